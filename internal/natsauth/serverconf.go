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
	fmt.Fprintln(w, "# Junction's NATS users (junction nats-auth): one nkey per client, each")
	fmt.Fprintln(w, "# allowed only what its role needs. Seeds stay with the clients.")
	return WriteAuthorization(w, k.roles, func(i int, _ User) string { return strconv.Quote(k.users[i].Nkey) })
}

// WriteAuthorization writes the `authorization` block of a nats-server
// configuration for users, each with its role's permissions; nkey gives
// the value written for each user's nkey (a quoted public key, or a
// $VARIABLE the server resolves from its environment).
func WriteAuthorization(w io.Writer, users []User, nkey func(i int, u User) string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "authorization {")
	fmt.Fprintln(bw, "  users = [")
	for i, u := range users {
		fmt.Fprintf(bw, "    # %s (%s)\n", u.Name, u.Role)
		fmt.Fprintf(bw, "    {\n      nkey: %s\n", nkey(i, u))
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
