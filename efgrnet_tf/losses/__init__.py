"""Training targets and losses: matching → targets → hard negative mining → multibox loss."""
