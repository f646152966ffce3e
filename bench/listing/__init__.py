"""Located listings (getListing with needLocation, Spark's listLocatedStatus) in the engine."""
