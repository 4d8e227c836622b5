"""The example site's own pages: send a message, start a job that reports progress."""
