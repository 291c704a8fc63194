"""Live checks of a domain's MX hosts from outside: what senders see when they deliver."""
