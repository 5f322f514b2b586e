"""Back-office users (people who log in to the web UI) and their browser sessions."""
