"""The doors reports arrive through (SMTP, IMAP, HTTPS, upload, command line)."""
