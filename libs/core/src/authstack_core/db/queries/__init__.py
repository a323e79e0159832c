"""SQL by area; each statement sits beside the one function that runs it."""
