/** The sender for a channel's type. */
import type { ChannelConfig } from '../channel-config.js';
import type { Sender } from './sender.js';
import { webhookSender } from './webhook-sender.js';
import { teamsSender } from './teams-sender.js';
import { slackSender } from './slack-sender.js';
import { emailSender } from './email-sender.js';
import { syslogSender } from './syslog-sender.js';

export function senderFor(c: ChannelConfig): Sender {
  switch (c.type) {
    case 'webhook':
      return webhookSender(c);
    case 'teams':
      return teamsSender(c.url);
    case 'slack':
      return slackSender(c.url);
    case 'email':
      return emailSender(c);
    case 'syslog':
      return syslogSender(c);
  }
}
