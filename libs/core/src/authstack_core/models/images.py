"""The limits of an uploaded image, shared by the request schemas and the image checks."""

MAX_IMAGE_BYTES = 1_048_576
MAX_IMAGE_SIDE = 4096
# The longest data URL worth reading: a MAX_IMAGE_BYTES image in base64 and a short header.
MAX_DATA_URL_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 256
