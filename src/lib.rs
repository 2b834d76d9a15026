//! onex placeholder facade (filled in below).
