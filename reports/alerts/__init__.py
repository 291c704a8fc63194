"""Alerts: the rules that open and resolve them, their e-mail and their tasks."""
