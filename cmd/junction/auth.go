package main

import (
	"fmt"
	"io"

	"github.com/junctionhq/junction/internal/hub"
)

// printAuth adds the API's credentials to the ready banner: where the admin
// key is (never the key itself), or a loud line when auth is off.
func printAuth(out io.Writer, h *hub.Hub) {
	switch {
	case h.AuthDisabled():
		fmt.Fprintf(out, "  auth      DISABLED (auth.disabled in the config): anyone who reaches the API can do anything\n")
	case h.AdminKeyFile() != "":
		fmt.Fprintf(out, "  admin key %s  (the CLI reads it; REST: Authorization: Bearer <key>)\n", h.AdminKeyFile())
	default:
		fmt.Fprintf(out, "  auth      API keys required (no admin key file configured)\n")
	}
}
