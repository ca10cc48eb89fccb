// Everything a running proxy holds open, and the one path that releases it: used when the start
// fails half-way, after a soft stop, and on a hard stop. Release runs once; later calls await it.
import type { Dispatcher } from 'undici'
import type { AdminServer } from '../observability/index.js'
import type { Frontend } from './frontend.js'

export class ProxyResources {
  readonly frontends: Frontend[] = []
  admin: AdminServer | undefined
  private released: Promise<void> | undefined

  /** `ownsDispatcher`: the proxy created the undici dispatcher, so it closes it too. */
  constructor (private readonly dispatcher: Dispatcher, private readonly ownsDispatcher: boolean) {}

  /** Stops listeners, discovery and polls, then the admin server and the dispatcher. */
  release (): Promise<void> {
    this.released ??= this.releaseAll()
    return this.released
  }

  private async releaseAll (): Promise<void> {
    for (const f of this.frontends) f.stop()
    await this.admin?.close()
    if (this.ownsDispatcher) await this.dispatcher.close()
  }
}
