"""Route handlers by area. Each parses and authorises, calls one domain function, shapes output."""
