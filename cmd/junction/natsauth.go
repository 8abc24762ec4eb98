package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/junctionhq/junction/internal/hub"
	"github.com/junctionhq/junction/internal/natsauth"
)

// newNATSAuthCmd prints the nats-server authorization block of the hub's
// NATS users, for a NATS run apart from serve.
func newNATSAuthCmd() *cobra.Command {
	var config, keysDir string
	cmd := &cobra.Command{
		Use:   "nats-auth",
		Short: "Print a nats-server authorization block for the hub's users, writing their nkey seeds",
		Long: `nats-auth writes an nkey seed file for each NATS user of the hub (the
defaults webhook, router, gateway and subscriber, and the config's
nats_users) into --keys-dir, keeping those that exist, and prints the
nats-server "authorization" block that gives each user only its role's
permissions (docs/security/nats.md). Include it in the configuration of a
NATS cluster the hub runs on; give each component its seed with --nats-nkey
or hub.nats_nkey_file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config == "" {
				config = os.Getenv("JUNCTION_CONFIG")
			}
			cfg, err := hub.Load(config, os.Getenv)
			if err != nil {
				return err
			}
			cfg.SetDefaults()
			if keysDir == "" {
				keysDir = filepath.Join(cfg.DataDir, natsauth.SeedDir)
			}
			var sources []string
			for _, s := range cfg.Webhook.Sources {
				sources = append(sources, s.Name)
			}
			users := natsauth.Merge(natsauth.Defaults(sources), cfg.NATSUsers)
			k, err := natsauth.SetupIn(keysDir, users, nil)
			if err != nil {
				return err
			}
			if err := k.WriteServerConfig(cmd.OutOrStdout()); err != nil {
				return err
			}
			files := k.Files()
			for _, name := range slices.Sorted(func(yield func(string) bool) {
				for n := range files {
					if !yield(n) {
						return
					}
				}
			}) {
				fmt.Fprintf(cmd.ErrOrStderr(), "seed of %s: %s\n", name, files[name])
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "", "junction YAML config with nats_users and webhook sources (env JUNCTION_CONFIG)")
	cmd.Flags().StringVar(&keysDir, "keys-dir", "", "where the seed files go (default <data_dir>/nats)")
	return cmd
}
