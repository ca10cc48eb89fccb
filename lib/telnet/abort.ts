// The abortive close every transport here needs, in one place. An RST (SO_LINGER 0) is what a
// hard close should send, but Node cannot always do it:
//   - a TLS socket's handle is not a TCP handle: resetAndDestroy() throws ERR_INVALID_HANDLE_TYPE;
//   - once end() has flushed and shut the socket down, libuv refuses SO_LINGER 0, and
//     resetAndDestroy() emits 'error' but never 'close' (found in our tests; Node's net docs,
//     socket.resetAndDestroy()).
// In those cases destroy() is the hardest close available, and it always ends in 'close'.
import type { Socket } from 'node:net'

export function abortSocket (socket: Socket): void {
  if (socket.destroyed) return
  if (socket.writableFinished || 'encrypted' in socket) {
    socket.destroy()
    return
  }
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}
