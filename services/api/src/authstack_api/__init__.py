"""The REST API service: Stack Auth's wire contract on Litestar."""
