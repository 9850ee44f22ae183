"""Participant web pages (issue 5): sign-up, receipt, status, withdrawal, privacy, posters."""
