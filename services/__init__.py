"""The services layer: the business, framework-free; each call is one transaction."""
