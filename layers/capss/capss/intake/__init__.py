"""Reads a file before anything is sent (lxml only): the safe reader, the format rules,
the optional official XSD, and the report of what was found."""
