"""The libraries (库): one database each, with tables derived from the catalog."""
