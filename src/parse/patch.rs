//! The patch file (`.pat`) header. (Filled in from the research notes.)
