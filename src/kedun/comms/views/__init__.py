"""The communication pages: mail, documents, SMS, and their settings."""
