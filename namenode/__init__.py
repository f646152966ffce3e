"""The namenode: the metadata engine (schema, DAL, namespace operations) and, later, its front ends."""
