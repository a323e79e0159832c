"""The cron runner: calls the API's maintenance endpoints on a schedule."""
