"""Every Redis key and every read and write of them."""
