"""Kedun (客盾): a CRM where the company, not the salesperson, keeps every customer relationship."""

__version__ = "0.1.0"
