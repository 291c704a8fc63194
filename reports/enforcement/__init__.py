"""The MTA-STS enforcement loop: promote hosted policies to enforce, ramp, roll back."""
