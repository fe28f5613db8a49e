// Drives the official OpenAI SDK's model list, embeddings and Responses
// calls against the gateway, and prints what the SDK gave back as one
// JSON line for t/sdk_api.t to check.
//
//   node api.mjs <case> <base URL> <key> [model]
//
// Only the base URL and the key differ from a call to OpenAI itself. No
// retries, so a failure shows as it is.

import OpenAI from 'openai';

const [, , name, baseURL, key, model = 'gpt-4o-mini'] = process.argv;

function openai() {
    return new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 10000 });
}

const weather = {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
    },
};

const cases = {
    async 'models-list'() {
        const ids = [];
        for await (const m of openai().models.list()) {
            ids.push(m.id);
        }
        return { ids };
    },

    async 'models-retrieve'() {
        return await openai().models.retrieve(model);
    },

    // the SDK asks base64 unless told: it decodes the floats itself
    async 'embeddings-string'() {
        const { data, response } = await openai().embeddings
            .create({ model, input: 'hello world' }).withResponse();
        return {
            count: data.data.length,
            first: data.data[0].embedding,
            usage: data.usage,
            heliconeId: response.headers.get('helicone-id'),
            cache: response.headers.get('helicone-cache'),
        };
    },

    async 'embeddings-array'() {
        const e = await openai().embeddings.create({
            model, input: ['one', 'two', 'three'], encoding_format: 'float',
        });
        return {
            count: e.data.length,
            indexes: e.data.map((d) => d.index),
            first: e.data[0].embedding,
            usage: e.usage,
        };
    },

    async 'responses-plain'() {
        const { data, response } = await openai().responses.create({
            model, instructions: 'Be brief.', input: 'Say hello',
            max_output_tokens: 64,
        }).withResponse();
        return {
            text: data.output_text,
            status: data.status,
            object: data.object,
            usage: data.usage,
            heliconeId: response.headers.get('helicone-id'),
        };
    },

    async 'responses-stream'() {
        const stream = await openai().responses.create({
            model, input: [{ role: 'user', content: 'Say hello' }],
            stream: true,
        });
        const types = [];
        const deltas = [];
        let completed = null;
        for await (const ev of stream) {
            types.push(ev.type);
            if (ev.type === 'response.output_text.delta') {
                deltas.push(ev.delta);
            }
            if (ev.type === 'response.completed') {
                completed = ev.response;
            }
        }
        return {
            types,
            deltas,
            text: completed ? completed.output_text
                  ?? completed.output.flatMap((o) => o.content ?? [])
                         .map((c) => c.text).join('') : null,
            usage: completed ? completed.usage : null,
        };
    },

    // a tool call, then its result sent back
    async 'responses-tool'() {
        const client = openai();
        const first = await client.responses.create({
            model, input: 'Weather in Paris?', tools: [weather],
        });
        const call = first.output.find((o) => o.type === 'function_call');
        if (!call) {
            return { call: null, output: first.output };
        }
        const second = await client.responses.create({
            model, tools: [weather],
            input: [
                { role: 'user', content: 'Weather in Paris?' },
                call,
                { type: 'function_call_output', call_id: call.call_id,
                  output: '{"temp":21}' },
            ],
        });
        return {
            call: { name: call.name, arguments: call.arguments,
                    call_id: call.call_id },
            text: second.output_text,
        };
    },

    async 'responses-error'() {
        try {
            await openai().responses.create({
                model, input: 'Say hello', previous_response_id: 'resp_1',
            });
            return { thrown: false };
        } catch (e) {
            return { thrown: true, class: e.constructor.name,
                     status: e.status, code: e.code, param: e.param,
                     message: e.message };
        }
    },
};

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
