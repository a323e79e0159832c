"""The built-in email templates (Jinja2 sources), read by ``authstack_core.email_rendering``."""
