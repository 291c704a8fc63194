"""What tenants see: the one source of numbers (selectors), the overview, a domain's
dashboard, the report list and detail, exports, explanations and findings."""
