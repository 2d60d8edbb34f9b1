// The server-native globals of an XSOAR JavaScript script, evaluated once per prepared context, before
// CommonServer.js (which calls them). Every one of them goes through one host function,
// __xsoar_host(operation, json) -> json, answered by the engine (xsoar_local/engine/javascript/child.py);
// values cross as JSON, with BigInt kept exact. The per-command values (args, params, invContext, ...) are
// bound by __xsoar_bind in the command's own copy of the context, never in the prepared one.
(function (global) {
    'use strict';
    var host = global.__xsoar_host;
    // content reaches the engine through the functions below only, never through the raw bridge
    delete global.__xsoar_host;

    // Content stringifies values holding BigInt (Set logs `JSON.stringify(result)` after BigInt(args.value)) and
    // passes on the server, so its engine serialises BigInt: a safe integer as a number, a larger one as digits.
    Object.defineProperty(BigInt.prototype, 'toJSON', {
        value: function () {
            var number = Number(this);
            return Number.isSafeInteger(number) ? number : this.toString();
        },
        writable: true,
        configurable: true
    });

    function encode(value) {
        return JSON.stringify(value === undefined ? null : value, function (key, item) {
            // `this[key]` is the value before toJSON: a BigInt crosses to the engine exact, however large
            var original = this[key];
            return typeof original === 'bigint' ? {__xsoar_bigint__: original.toString()} : item;
        });
    }

    function call(operation, payload) {
        var reply = JSON.parse(host(operation, encode(payload)));
        if (Object.prototype.hasOwnProperty.call(reply, 'throw')) {
            throw new Error(reply['throw']);
        }
        return Object.prototype.hasOwnProperty.call(reply, 'value') ? reply.value : undefined;
    }

    function text(values) {
        return Array.prototype.map.call(values, function (value) {
            if (typeof value === 'string') {
                return value;
            }
            try {
                var shown = encode(value);
                return shown === undefined ? String(value) : shown;
            } catch (error) {
                return String(value);
            }
        }).join(' ');
    }

    function logger(level) {
        return function () {
            call('log', {level: level, message: text(arguments)});
        };
    }

    function unavailable(name, why) {
        return function () {
            throw new Error(name + '() is not available in the local engine: ' + why);
        };
    }

    function define(name, value) {
        global[name] = value;
    }

    define('executeCommand', function (command, commandArgs) {
        var reply = call('executeCommand', {command: String(command), args: commandArgs || {}});
        global.invContext = reply.context;
        return reply.entries;
    });
    define('setContext', function (path, value) {
        global.invContext = call('setContext', {path: String(path), value: value});
    });
    define('dq', function (obj, path) {
        return call('dq', {obj: obj, path: String(path)});
    });
    define('log', logger('log'));
    define('logDebug', logger('debug'));
    define('logInfo', logger('info'));
    define('logError', logger('error'));
    define('console', {
        log: logger('log'),
        info: logger('info'),
        warn: logger('info'),
        error: logger('error'),
        debug: logger('debug')
    });
    define('demistoVersion', function () {
        return call('demistoVersion', {});
    });
    define('getAllSupportedCommands', function () {
        return call('getAllSupportedCommands', {});
    });
    define('getIntegrationContext', function (sync) {
        return call('getIntegrationContext', {sync: Boolean(sync)});
    });
    define('setIntegrationContext', function (context, version, sync) {
        return call('setIntegrationContext', {context: context, version: version, sync: Boolean(sync)});
    });
    define('getLastRun', function () {
        return call('getLastRun', {});
    });
    define('setLastRun', function (lastRun) {
        call('setLastRun', {value: lastRun});
    });
    define('wait', function (seconds) {
        call('wait', {seconds: Number(seconds)});
    });
    define('http', unavailable('http', 'JavaScript scripts get no network access here; call an integration command'));
    define('saveFile', unavailable('saveFile', 'JavaScript scripts get no file access here'));

    define('__xsoar_bind', function (job) {
        var values = JSON.parse(job);
        global.args = values.args;
        global.params = values.params;
        global.command = values.command;
        global.invContext = values.context;
        global.incidents = [values.incident];
        global.investigation = values.investigation;
    });

    function describe(error) {
        if (error instanceof Error) {
            return String(error);
        }
        if (typeof error === 'string') {
            return error;
        }
        try {
            var shown = encode(error);
            return shown === undefined ? String(error) : shown;
        } catch (ignored) {
            return String(error);
        }
    }

    // The script's code is a function body, as on the server (content uses a top-level `return`).
    define('__xsoar_run', function (code) {
        try {
            var value = Function(code)();
            return encode(value === undefined ? {} : {value: value});
        } catch (error) {
            return encode({error: describe(error), stack: (error && error.stack) || ''});
        }
    });
})(globalThis);
