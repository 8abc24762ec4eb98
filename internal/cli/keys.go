package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// keyPrefix starts every key's resource name.
const keyPrefix = "keys/"

// keysCommand returns the `keys` tree.
func keysCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the gateway's API keys (needs scope keys:admin)",
		Long: `Manage the API keys of the gateway. Every command needs a key with scope
keys:admin (or admin), such as the admin key serve writes to ./data/admin.key.

A key's secret is printed once, by create and rotate; the hub keeps only a
hash of it. Scopes: routes:read, routes:write, events:publish, events:read,
deadletters:read, deadletters:admin, deliveries:read, adapters:read,
keys:admin, metrics:read, admin (all).`,
		Args: cobra.NoArgs,
	}
	o.addPersistentFlags(cmd)
	cmd.AddCommand(keysCreateCommand(o), keysListCommand(o), keysGetCommand(o), keysRotateCommand(o), keysRevokeCommand(o))
	return cmd
}

// keyName accepts "kabc..." and "keys/kabc...".
func keyName(arg string) string {
	return keyPrefix + strings.TrimPrefix(arg, keyPrefix)
}

func keysCreateCommand(o *options) *cobra.Command {
	var (
		name, description string
		scopes            []string
		expires           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --scope SCOPE [--scope SCOPE...] [--expires 720h]",
		Short: "Create a key and print its secret (shown only this once)",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().StringVar(&name, "name", "", "a name for people, e.g. \"ci deploy\"")
	cmd.Flags().StringVar(&description, "description", "", "free text")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "a scope the key holds; repeat for several")
	cmd.Flags().DurationVar(&expires, "expires", 0, "the key stops working this long from now, e.g. 720h (0: never)")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		if len(scopes) == 0 {
			return fmt.Errorf("--scope is required at least once, e.g. --scope routes:read: %w", ErrUsage)
		}
		if expires < 0 {
			return fmt.Errorf("--expires %s is negative: %w", expires, ErrUsage)
		}
		k := &junctionv1.Key{DisplayName: name, Description: description, Scopes: scopes}
		if expires > 0 {
			k.ExpireTime = timestamppb.New(time.Now().Add(expires))
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewKeyServiceClient(c.cc).CreateKey, &junctionv1.CreateKeyRequest{Key: k})
		if err != nil {
			return err
		}
		return writeSecret(cmd.OutOrStdout(), o.output, resp.GetKey(), resp.GetSecret(), "created")
	})
	return cmd
}

// writeSecret prints a key with its new secret.
func writeSecret(w io.Writer, format string, k *junctionv1.Key, secret, what string) error {
	if format != formatTable {
		return writeStructured(w, format, &junctionv1.CreateKeyResponse{Key: k, Secret: secret})
	}
	fmt.Fprintf(w, "key %s %s (scopes %s)\n", strings.TrimPrefix(k.GetName(), keyPrefix), what, strings.Join(k.GetScopes(), " "))
	fmt.Fprintf(w, "secret (shown only now; send it as Authorization: Bearer <secret>):\n%s\n", secret)
	return nil
}

func keysListCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List keys, revoked ones included",
		Args:    cobra.NoArgs,
	}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		kc := junctionv1grpc.NewKeyServiceClient(c.cc)
		all := &junctionv1.ListKeysResponse{}
		token := ""
		for {
			resp, err := call(ctx, c, kc.ListKeys, &junctionv1.ListKeysRequest{PageSize: maxPageSize, PageToken: token})
			if err != nil {
				return err
			}
			all.Keys = append(all.Keys, resp.GetKeys()...)
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if o.output == formatTable {
			return writeKeyTable(cmd.OutOrStdout(), all.GetKeys())
		}
		return writeStructured(cmd.OutOrStdout(), o.output, all)
	})
	return cmd
}

func keysGetCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "get KEY_ID", Short: "Show one key (never its secret)", Args: cobra.ExactArgs(1)}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewKeyServiceClient(c.cc).GetKey, &junctionv1.GetKeyRequest{Name: keyName(args[0])})
		if err != nil {
			return err
		}
		if o.output == formatTable {
			return writeKeyTable(cmd.OutOrStdout(), []*junctionv1.Key{resp.GetKey()})
		}
		return writeStructured(cmd.OutOrStdout(), o.output, resp.GetKey())
	})
	return cmd
}

func keysRotateCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate KEY_ID",
		Short: "Give a key a new secret and print it; the old secret stops working at once",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewKeyServiceClient(c.cc).RotateKey, &junctionv1.RotateKeyRequest{Name: keyName(args[0])})
		if err != nil {
			return err
		}
		return writeSecret(cmd.OutOrStdout(), o.output, resp.GetKey(), resp.GetSecret(), "rotated")
	})
	return cmd
}

func keysRevokeCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "revoke KEY_ID", Short: "Make a key stop working for good", Args: cobra.ExactArgs(1)}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewKeyServiceClient(c.cc).RevokeKey, &junctionv1.RevokeKeyRequest{Name: keyName(args[0])})
		if err != nil {
			return err
		}
		if o.output == formatTable {
			fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked\n", strings.TrimPrefix(resp.GetKey().GetName(), keyPrefix))
			return nil
		}
		return writeStructured(cmd.OutOrStdout(), o.output, resp.GetKey())
	})
	return cmd
}

// writeKeyTable prints keys as aligned columns.
func writeKeyTable(w io.Writer, keys []*junctionv1.Key) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tSTATE\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range keys {
		state := "active"
		switch {
		case k.GetRevokeTime() != nil:
			state = "revoked"
		case k.GetExpireTime() != nil && !k.GetExpireTime().AsTime().After(time.Now()):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			strings.TrimPrefix(k.GetName(), keyPrefix),
			cell(k.GetDisplayName()),
			cell(strings.Join(k.GetScopes(), ",")),
			state,
			cell(formatTime(k.GetCreateTime())),
			cell(formatTime(k.GetExpireTime())),
			cell(formatTime(k.GetLastUsedTime())),
		)
	}
	return tw.Flush()
}
