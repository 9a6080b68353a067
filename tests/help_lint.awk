# Reads a tool's --help; prints every option entry that neither names its
# NRO_* variable nor says why it has none (--help and --version excepted),
# and every line over 80 columns.
function check() {
	if (entry != "" && entry !~ /\[NRO_[A-Z_]+\]/ && entry !~ /no variable/ &&
	    entry !~ /--(help|version)( |$)/)
		print "no variable: " entry
	entry = ""
}
length($0) > 80 { print "over 80 columns: " $0 }
/^  (-[a-zA-Z], |    )--[a-z]/ { check(); entry = $0; next }
/^                              / && entry != "" { entry = entry " " $0; next }
{ check() }
END { check() }
