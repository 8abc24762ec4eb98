package natsauth

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteServerConfig writes an `authorization` block for a nats-server
// configuration file that knows k's users with their permissions, so a
// NATS run apart from `junction serve` (a cluster) confines the hub's
// clients as the embedded one does. Only public keys are written.
func (k *Keys) WriteServerConfig(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Junction's NATS users (junction nats-auth): one nkey per client, each")
	fmt.Fprintln(bw, "# allowed only what its role needs. Seeds stay with the clients.")
	fmt.Fprintln(bw, "authorization {")
	fmt.Fprintln(bw, "  users = [")
	for i, nu := range k.users {
		u := k.roles[i]
		fmt.Fprintf(bw, "    # %s (%s)\n", k.names[i], u.Role)
		fmt.Fprintf(bw, "    {\n      nkey: %s\n", strconv.Quote(nu.Nkey))
		if p := u.Permissions(); p != nil {
			fmt.Fprintln(bw, "      permissions: {")
			writeSubjects(bw, "publish", p.Publish)
			writeSubjects(bw, "subscribe", p.Subscribe)
			fmt.Fprintln(bw, "      }")
		}
		fmt.Fprintln(bw, "    }")
	}
	fmt.Fprintln(bw, "  ]")
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// writeSubjects writes one permission direction: its allow list, or a deny
// of everything when the list is empty.
func writeSubjects(w io.Writer, direction string, subjects []string) {
	if len(subjects) == 0 {
		fmt.Fprintf(w, "        %s: { deny: [\">\"] }\n", direction)
		return
	}
	quoted := make([]string, len(subjects))
	for i, s := range subjects {
		quoted[i] = strconv.Quote(s)
	}
	fmt.Fprintf(w, "        %s: { allow: [\n          %s\n        ] }\n", direction, strings.Join(quoted, ",\n          "))
}
