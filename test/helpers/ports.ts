// Free TCP ports for tests that must hand a port number to another program (s3270, Hercules).
// Listening on port 0 and closing leaves a small race (someone else may take the port before the
// program binds it); callers that can bind port 0 themselves should do that instead.

import { createServer } from 'node:net'

export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      if (addr === null || typeof addr === 'string') {
        srv.close()
        reject(new Error('freePort: no TCP address'))
        return
      }
      srv.close(() => resolve(addr.port))
    })
  })
}
