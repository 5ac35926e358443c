package energy

// CopyPowercap exposes the fake powercap tree loader to the external tests.
var CopyPowercap = copyPowercap
