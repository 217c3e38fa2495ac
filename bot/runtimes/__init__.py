"""Framework adapters: each turns its framework's updates into Events and renders Replies."""
