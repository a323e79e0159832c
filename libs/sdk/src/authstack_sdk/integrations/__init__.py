"""Framework helpers: FastAPI (fastapi.py), Django (django.py), Flask (flask.py)."""
