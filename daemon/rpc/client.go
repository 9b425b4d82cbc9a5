package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"
)

// maxResponseBytes bounds a response read by the client.
const maxResponseBytes = 16 << 20

// Client calls a daemon's RPC. It is safe for concurrent use.
type Client struct {
	address string
	token   string
	hc      *http.Client
}

// NewClient calls the daemon listening at address (host:port) with token.
func NewClient(address, token string) *Client {
	return &Client{
		address: address,
		token:   token,
		hc: &http.Client{Transport: &http.Transport{
			// The daemon is on loopback: never route through a proxy
			// taken from the environment.
			Proxy:               nil,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}},
	}
}

// NewClientFromDataDir reads the endpoint file of a data directory.
func NewClientFromDataDir(dir string) (*Client, error) {
	e, err := ReadEndpoint(dir)
	if err != nil {
		return nil, err
	}
	return NewClient(e.Address, e.Token), nil
}

// Address is the host:port the client calls.
func (c *Client) Address() string { return c.address }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Call invokes method with req (nil for none) and decodes the response
// into resp (nil to discard it). A refusal by the daemon is an *Error; a
// daemon that cannot be reached yields an error wrapping
// ErrDaemonNotRunning.
func (c *Client) Call(ctx context.Context, method string, req, resp any) error {
	if req == nil {
		req = Empty{}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", method, err)
	}
	url := "http://" + c.address + pathPrefix + method
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url,
		bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Authorization", "Bearer "+c.token)

	httpResp, err := c.hc.Do(httpReq)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w at %s (connection refused; is %s stale?)",
				ErrDaemonNotRunning, c.address, EndpointFile)
		}
		return fmt.Errorf("%s: call daemon at %s: %w", method, c.address, err)
	}
	defer httpResp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(httpResp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", method, err)
	}

	if httpResp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == nil || eb.Error.Code == "" {
			return Errorf(CodeInternal, "%s: daemon answered %s",
				method, httpResp.Status)
		}
		if eb.Error.Code == CodeUnauthenticated {
			eb.Error.Message = "daemon refused the auth token: " +
				"is " + EndpointFile + " from this daemon?"
		}
		return eb.Error
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("%s: decode response: %w", method, err)
	}
	return nil
}

// GetInfo returns the node status.
func (c *Client) GetInfo(ctx context.Context) (*GetInfoResponse, error) {
	return call[GetInfoResponse](ctx, c, MethodGetInfo, nil)
}

// Stop asks the daemon to shut down cleanly. It returns once the daemon
// has acknowledged; the process exits shortly after.
func (c *Client) Stop(ctx context.Context) error {
	return c.Call(ctx, MethodStop, nil, nil)
}

// ChainInfo returns the tip of the built-in chain.
func (c *Client) ChainInfo(ctx context.Context) (*ChainInfoResponse, error) {
	return call[ChainInfoResponse](ctx, c, MethodChainInfo, nil)
}

// ChainMine mines n blocks to address (the node's wallet when empty).
func (c *Client) ChainMine(ctx context.Context, n int, address string) (*ChainMineResponse, error) {
	req := ChainMineRequest{NumBlocks: n, Address: address}
	return call[ChainMineResponse](ctx, c, MethodChainMine, req)
}

// ChainConnect adds a persistent chain peer at address (host:port).
func (c *Client) ChainConnect(ctx context.Context, address string) error {
	return c.Call(ctx, MethodChainConnect, ChainConnectRequest{Address: address}, nil)
}

// NewAddress returns a fresh address of the wallet.
func (c *Client) NewAddress(ctx context.Context) (string, error) {
	r, err := call[NewAddressResponse](ctx, c, MethodWalletNewAddress, nil)
	if err != nil {
		return "", err
	}
	return r.Address, nil
}

// Balance returns the wallet's on-chain funds.
func (c *Client) Balance(ctx context.Context) (*BalanceResponse, error) {
	return call[BalanceResponse](ctx, c, MethodWalletBalance, nil)
}

// Send pays on chain.
func (c *Client) Send(ctx context.Context, req SendRequest) (*SendResponse, error) {
	return call[SendResponse](ctx, c, MethodWalletSend, req)
}

// call is Call with a typed response, nil on failure.
func call[Resp any](ctx context.Context, c *Client, method string, req any) (*Resp, error) {
	r := new(Resp)
	if err := c.Call(ctx, method, req, r); err != nil {
		return nil, err
	}
	return r, nil
}

// PeerConnect connects to peer (NODE_ID@HOST:PORT) and keeps it connected.
func (c *Client) PeerConnect(ctx context.Context, peer string) error {
	return c.Call(ctx, MethodPeerConnect, PeerConnectRequest{Peer: peer}, nil)
}

// PeerList lists the connected peers.
func (c *Client) PeerList(ctx context.Context) (*PeerListResponse, error) {
	return call[PeerListResponse](ctx, c, MethodPeerList, nil)
}

// PeerDisconnect drops a peer and stops reconnecting to it.
func (c *Client) PeerDisconnect(ctx context.Context, nodeID string) error {
	return c.Call(ctx, MethodPeerDisconnect, PeerDisconnectRequest{NodeID: nodeID}, nil)
}

// ChannelOpen opens a channel and returns once its funding transaction is
// broadcast.
func (c *Client) ChannelOpen(ctx context.Context, req ChannelOpenRequest) (*ChannelOpenResponse, error) {
	return call[ChannelOpenResponse](ctx, c, MethodChannelOpen, req)
}

// ChannelList lists the open and pending channels.
func (c *Client) ChannelList(ctx context.Context) (*ChannelListResponse, error) {
	return call[ChannelListResponse](ctx, c, MethodChannelList, nil)
}

// ChannelClose closes a channel cooperatively and returns once the closing
// transaction is broadcast.
func (c *Client) ChannelClose(ctx context.Context, req ChannelCloseRequest) (*ChannelCloseResponse, error) {
	return call[ChannelCloseResponse](ctx, c, MethodChannelClose, req)
}

// ChannelClosed lists the closed channels.
func (c *Client) ChannelClosed(ctx context.Context) (*ChannelClosedResponse, error) {
	return call[ChannelClosedResponse](ctx, c, MethodChannelClosed, nil)
}
