// Drives the official OpenAI or Anthropic SDK against the gateway, the way
// an application would, and prints what the SDK gave back as one JSON
// line for t/sdk.t to check.
//
//   node client.mjs <case> <base URL> <key> [model]
//
// The SDKs are used as they are: only the base URL, the key and (for
// Anthropic in proxy mode) a Helicone-Auth header differ from a call to
// the provider itself. No retries, so a failure shows as it is.
//
// Two Anthropic SDKs: the current major, which sends the key as
// "Authorization: Bearer", as "anthropic-*" cases, and the last 0.x, which
// sends it as "x-api-key", as "anthropic-old-*" (package.json's alias).

import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import AnthropicOld from 'anthropic-old';

const [, , name, baseURL, key, model = 'gpt-4o-mini'] = process.argv;
const messages = [{ role: 'user', content: 'Say hello' }];

function openai() {
    return new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 10000 });
}

function anthropic(Sdk) {
    return new Sdk({
        baseURL,
        apiKey: 'sk-ant-client-own-key',
        maxRetries: 0,
        timeout: 10000,
        defaultHeaders: { 'Helicone-Auth': `Bearer ${key}` },
    });
}

const cases = {
    // chat completion, and the response headers the SDK saw
    async 'openai-chat'() {
        const { data, response } = await openai().chat.completions
            .create({ model, messages }).withResponse();
        return {
            content: data.choices[0].message.content,
            finish: data.choices[0].finish_reason,
            usage: data.usage,
            heliconeId: response.headers.get('helicone-id'),
        };
    },

    // a stream read chunk by chunk, usage asked for or not
    async 'openai-stream'() {
        return openaiStream(false);
    },

    async 'openai-stream-usage'() {
        return openaiStream(true);
    },

    // the SDK's error class, status and body fields
    async 'openai-error'() {
        try {
            await openai().chat.completions.create({ model, messages });
            return { thrown: false };
        } catch (e) {
            return {
                thrown: true,
                class: e.constructor.name,
                status: e.status,
                type: e.type,
                code: e.code,
                message: e.message,
            };
        }
    },

};

// Messages, and a Messages stream through the SDK's own helper
for (const [prefix, Sdk] of [['anthropic', Anthropic],
                             ['anthropic-old', AnthropicOld]]) {
    cases[`${prefix}-message`] = async () => {
        const m = await anthropic(Sdk).messages.create({
            model, max_tokens: 64, messages,
        });
        return {
            content: m.content.map((b) => b.text).join(''),
            stop: m.stop_reason,
            usage: m.usage,
        };
    };

    cases[`${prefix}-stream`] = async () => {
        const stream = anthropic(Sdk).messages.stream({
            model, max_tokens: 64, messages,
        });
        const deltas = [];
        stream.on('text', (t) => deltas.push(t));
        const m = await stream.finalMessage();
        return {
            deltas,
            content: m.content.map((b) => b.text).join(''),
            stop: m.stop_reason,
            usage: m.usage,
        };
    };
}

async function openaiStream(usage) {
    const stream = await openai().chat.completions.create({
        model, messages, stream: true,
        ...(usage ? { stream_options: { include_usage: true } } : {}),
    });
    const deltas = [];
    let finish = null;
    let usageSeen = null;
    let chunks = 0;

    for await (const chunk of stream) {
        chunks++;
        for (const c of chunk.choices) {
            if (c.delta && c.delta.content) {
                deltas.push(c.delta.content);
            }
            if (c.finish_reason) {
                finish = c.finish_reason;
            }
        }
        if (chunk.usage) {
            usageSeen = chunk.usage;
        }
    }

    return { deltas, content: deltas.join(''), finish, usage: usageSeen,
             chunks };
}

if (!cases[name]) {
    console.error(`unknown case ${name}`);
    process.exit(2);
}

try {
    console.log(JSON.stringify(await cases[name]()));
} catch (e) {
    console.log(JSON.stringify({ failed: true, class: e.constructor.name,
                                 status: e.status, message: e.message }));
}
