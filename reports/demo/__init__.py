"""A demo tenant with months of real-looking history (``manage.py demo``)."""
