package cli_test

import (
	"fmt"

	"github.com/junctionhq/junction/internal/cli"
	"github.com/spf13/cobra"
)

// The junction binary adds the command trees to its root command; each
// tree carries its own --server, -o and --timeout flags.
func ExampleCommands() {
	root := &cobra.Command{Use: "junction", SilenceUsage: true}
	root.AddCommand(cli.Commands()...)
	for _, tree := range root.Commands() {
		for _, c := range tree.Commands() {
			fmt.Println(tree.Name(), c.Name())
		}
	}
	// Output:
	// dlq get
	// dlq list
	// dlq purge
	// dlq redrive
	// events deliveries
	// events get
	// events list
	// events publish
	// events replay
	// events resend
	// events tail
	// events trace
	// keys create
	// keys get
	// keys list
	// keys revoke
	// keys rotate
	// routes apply
	// routes delete
	// routes get
	// routes list
	// routes test
}
