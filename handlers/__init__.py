"""The conversation: framework-free handlers that turn an Event into service calls and Replies."""
