"""Scripts that run the site and drive it: the fault drill, the soak and the serving module they share with
the benchmark."""
