"""Recognising a company however it is written: names, phones, domains, credit codes."""
