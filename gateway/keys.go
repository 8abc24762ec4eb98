package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// keyPrefix starts every key's resource name.
const keyPrefix = "keys/"

// CreateKey stores a new API key and returns its secret, once.
func (s *Server) CreateKey(ctx context.Context, req *junctionv1.CreateKeyRequest) (*junctionv1.CreateKeyResponse, error) {
	in := req.GetKey()
	if in == nil {
		return nil, invalid("key", "required: the key to create, with at least one scope")
	}
	if err := auth.ValidateScopes(in.GetScopes()); err != nil {
		return nil, invalid("key.scopes", "%v", err)
	}
	if err := mayGrant(ctx, in.GetScopes(), "create a key with"); err != nil {
		return nil, err
	}
	nk := auth.NewKey{DisplayName: in.GetDisplayName(), Description: in.GetDescription(), Scopes: in.GetScopes()}
	if in.GetExpireTime() != nil {
		if err := in.GetExpireTime().CheckValid(); err != nil {
			return nil, invalid("key.expire_time", "%v", err)
		}
		nk.ExpireTime = in.GetExpireTime().AsTime()
		if !nk.ExpireTime.After(s.now()) {
			return nil, invalid("key.expire_time", "%s is not in the future", nk.ExpireTime.Format(time.RFC3339))
		}
	}
	r, key, err := s.keys.Create(ctx, nk)
	if err != nil {
		return nil, s.keyStatus(ctx, "create key", err)
	}
	s.log.InfoContext(ctx, "API key created", "key_id", r.ID, "scopes", strings.Join(r.Scopes, " "), "by", callerOf(ctx))
	return &junctionv1.CreateKeyResponse{Key: keyProto(r), Secret: key.String()}, nil
}

// GetKey returns one key without its secret.
func (s *Server) GetKey(ctx context.Context, req *junctionv1.GetKeyRequest) (*junctionv1.GetKeyResponse, error) {
	id, err := parseKeyName(req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.keys.Get(ctx, id)
	if err != nil {
		return nil, s.keyStatus(ctx, "get key", err)
	}
	return &junctionv1.GetKeyResponse{Key: keyProto(r)}, nil
}

// ListKeys returns the keys in id order, a page at a time.
func (s *Server) ListKeys(ctx context.Context, req *junctionv1.ListKeysRequest) (*junctionv1.ListKeysResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after := ""
	if tok := req.GetPageToken(); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !auth.ValidKeyID(string(b)) {
			return nil, invalid("page_token", "%q is not a next_page_token of ListKeys: pass one unchanged, or none for the first page", tok)
		}
		after = string(b)
	}
	all, err := s.keys.List(ctx)
	if err != nil {
		return nil, s.keyStatus(ctx, "list keys", err)
	}
	resp := &junctionv1.ListKeysResponse{}
	for _, r := range all {
		if after != "" && r.ID <= after {
			continue
		}
		if len(resp.Keys) == size {
			last := strings.TrimPrefix(resp.Keys[size-1].GetName(), keyPrefix)
			resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		resp.Keys = append(resp.Keys, keyProto(r))
	}
	return resp, nil
}

// RotateKey gives a key a new secret and returns it, once.
func (s *Server) RotateKey(ctx context.Context, req *junctionv1.RotateKeyRequest) (*junctionv1.RotateKeyResponse, error) {
	id, err := parseKeyName(req.GetName())
	if err != nil {
		return nil, err
	}
	cur, err := s.keys.Get(ctx, id)
	if err != nil {
		return nil, s.keyStatus(ctx, "rotate key", err)
	}
	// The new secret carries the key's scopes: only a caller holding them
	// all may receive it.
	if err := mayGrant(ctx, cur.Scopes, "rotate a key with"); err != nil {
		return nil, err
	}
	r, key, err := s.keys.Rotate(ctx, id)
	if err != nil {
		return nil, s.keyStatus(ctx, "rotate key", err)
	}
	s.log.InfoContext(ctx, "API key rotated", "key_id", r.ID, "by", callerOf(ctx))
	return &junctionv1.RotateKeyResponse{Key: keyProto(r), Secret: key.String()}, nil
}

// RevokeKey makes a key stop working for good.
func (s *Server) RevokeKey(ctx context.Context, req *junctionv1.RevokeKeyRequest) (*junctionv1.RevokeKeyResponse, error) {
	id, err := parseKeyName(req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.keys.Revoke(ctx, id)
	if err != nil {
		return nil, s.keyStatus(ctx, "revoke key", err)
	}
	s.log.InfoContext(ctx, "API key revoked", "key_id", r.ID, "by", callerOf(ctx))
	return &junctionv1.RevokeKeyResponse{Key: keyProto(r)}, nil
}

func (s *Server) keyStatus(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, auth.ErrKeyNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, auth.ErrInvalidRecord):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, auth.ErrKeyRevoked):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return s.toStatus(ctx, op, err)
}

func parseKeyName(name string) (string, error) {
	id, ok := strings.CutPrefix(name, keyPrefix)
	if name == "" {
		return "", invalid("name", "required: \"keys/{key_id}\"")
	}
	if !ok || !auth.ValidKeyID(id) {
		return "", invalid("name", "%q is not a key name: want \"keys/k\" and 16 characters of a-z and 2-7, as ListKeys shows", name)
	}
	return id, nil
}

// mayGrant refuses to hand out a secret with scopes the caller does not
// hold itself, so keys:admin cannot mint or take over a more powerful key.
// With auth off (no caller) everything is allowed.
func mayGrant(ctx context.Context, scopes []string, what string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	for _, sc := range scopes {
		if !auth.Has(p.Scopes, sc) {
			return status.Errorf(codes.PermissionDenied, "%s cannot %s scope %s: it does not hold that scope itself", p, what, sc)
		}
	}
	return nil
}

// callerOf names the caller for logs ("anonymous" with auth off).
func callerOf(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.String()
	}
	return "anonymous"
}

func keyProto(r auth.Record) *junctionv1.Key {
	k := &junctionv1.Key{
		Name:        keyPrefix + r.ID,
		DisplayName: r.DisplayName,
		Description: r.Description,
		Scopes:      r.Scopes,
		CreateTime:  timestamppb.New(r.CreateTime),
	}
	ts := func(t *time.Time) *timestamppb.Timestamp {
		if t == nil {
			return nil
		}
		return timestamppb.New(*t)
	}
	k.ExpireTime, k.RotateTime, k.RevokeTime, k.LastUsedTime = ts(r.ExpireTime), ts(r.RotateTime), ts(r.RevokeTime), ts(r.LastUsed)
	return k
}
