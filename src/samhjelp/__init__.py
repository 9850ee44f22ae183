"""samhjelp package."""
