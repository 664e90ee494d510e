// The emulated pipeline. See DESIGN.md.
