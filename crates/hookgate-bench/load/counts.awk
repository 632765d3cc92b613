# The instructions and the malloc calls of a callgrind dump, printed as
# "<instructions> <mallocs>": the dump's total, and the calls= lines under a
# `cfn=` malloc (callgrind compresses names: "(id) name" once, "(id)" after).
# Used by profile.sh and profile-listen.sh:  awk -f counts.awk callgrind.out.1
function fname(s,   id) {
    if (match(s, /^\([0-9]+\)/)) {
        id = substr(s, 1, RLENGTH)
        if (length(s) > RLENGTH) names[id] = substr(s, RLENGTH + 2)
        return names[id]
    }
    return s
}
/^(summary|totals):/ { total = $2 }
/^fn=/ { fname(substr($0, 4)) }
/^cfn=/ { callee = fname(substr($0, 5)) }
/^calls=/ { if (callee == "malloc") { split(substr($0, 7), a, " "); m += a[1] } }
END { printf "%d %d\n", total, m }
