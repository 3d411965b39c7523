//! The flush-map file (`.jfm`) header. (Filled in from the research notes.)
