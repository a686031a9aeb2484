//===- KeyTable.h - keys of a model description and what they set -*- C++
//-*-===//
//
// Every format reduces its input to a list of entries (key, value, position)
// and describes its vocabulary as a KeyTable: for each key, the field of
// ModelConfig it sets and how its value converts. Unknown keys, wrong types and
// bad enum values are reported here, with the position of the entry and a
// suggestion for a misspelt key.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_KEYTABLE_H
#define MOE_FRONTEND_KEYTABLE_H

#include "moe/Frontend/Diagnostics.h"
#include "moe/Frontend/ModelConfig.h"

#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>
#include <utility>

namespace moe::frontend {

/// A value as it was written.
struct RawValue {
  enum class Kind {
    Plain,  // an unquoted scalar (YAML) or a flag's argument: typed on use
    String, // a quoted scalar
    Number, // a JSON number
    Bool,   // a JSON boolean
    Null,   // null, ~, None or an empty YAML value
    List,
    Flag, // a flag given without an argument
  };
  Kind kind = Kind::Plain;
  std::string text;
  std::vector<RawValue> items;
  SourceLoc loc;

  /// How the value reads in a message: '32', the string "32", a list.
  std::string describe() const;
};

struct ConfigEntry {
  std::string key;
  RawValue value;
  SourceLoc loc;
};

/// How many arguments a command-line flag takes.
enum class Arity { None, One, Many };

/// The key that set a field, and where.
struct KeyOrigin {
  std::string key;
  SourceLoc loc;
};
using KeyOrigins = llvm::StringMap<KeyOrigin>;

using ApplyFn =
    std::function<bool(const ConfigEntry &, ModelConfig &, Diagnostics &)>;

struct KeySpec {
  std::string key;
  std::string field; // the ModelConfig field it sets; empty when ignored
  Arity arity = Arity::One;
  ApplyFn apply;
};

class KeyTable {
public:
  /// `noun` names a key in messages: "key" or "flag".
  KeyTable(std::vector<KeySpec> specs, std::string noun);

  const KeySpec *find(llvm::StringRef key) const;
  /// The key that sets `field`; the field's own name when no key does.
  std::string keyFor(llvm::StringRef field) const;
  /// Reports an unknown key, with the closest known spelling.
  void reportUnknown(const ConfigEntry &entry, Diagnostics &diag) const;
  /// Applies every entry in order (a later entry wins) and records which key
  /// set each field. Returns false when any entry was bad.
  bool apply(const std::vector<ConfigEntry> &entries, ModelConfig &config,
             KeyOrigins &origins, Diagnostics &diag) const;

private:
  std::vector<KeySpec> specs;
  llvm::StringMap<size_t> index;
  std::string noun;
};

// Typed views of an entry's value; each reports a wrong type and returns
// std::nullopt.
std::optional<int64_t> toInt(const ConfigEntry &entry, Diagnostics &diag);
std::optional<double> toFloat(const ConfigEntry &entry, Diagnostics &diag);
std::optional<bool> toBool(const ConfigEntry &entry, Diagnostics &diag);
std::optional<std::string> toText(const ConfigEntry &entry, Diagnostics &diag);
std::optional<std::vector<std::string>> toTextList(const ConfigEntry &entry,
                                                   Diagnostics &diag);

// Key specs for the common shapes of a key.
KeySpec intKey(std::string key, std::string field,
               int64_t ModelConfig::*member);
KeySpec floatKey(std::string key, std::string field,
                 double ModelConfig::*member);
/// A float that may be null (for example a capacity factor: null is dropless).
KeySpec optionalFloatKey(std::string key, std::string field,
                         std::optional<double> ModelConfig::*member);
KeySpec boolKey(std::string key, std::string field, bool ModelConfig::*member);
KeySpec textKey(std::string key, std::string field,
                std::string ModelConfig::*member);
/// A flag without argument that stores `value` (argparse's store_true/false).
KeySpec flagKey(std::string key, std::string field, bool ModelConfig::*member,
                bool value);
/// An integer that may be null, which keeps the default (NeMo and Hugging
/// Face write null for "not set").
KeySpec nullableIntKey(std::string key, std::string field,
                       int64_t ModelConfig::*member);
/// A list of paths (or a single one).
KeySpec pathListKey(std::string key, std::string field,
                    std::vector<std::string> ModelConfig::*member,
                    Arity arity = Arity::Many);
/// A key whose only supported value is `required`; any other value is an
/// error that says "'<key>' is <value>, but <why>".
KeySpec requiredValueKey(std::string key, double required, std::string why);
/// Keeps the entry for a format to interpret once every key is read.
KeySpec recordKey(std::string key, std::string field,
                  std::optional<ConfigEntry> &slot);
/// A flag without argument that sets `slot`, a format's own state.
KeySpec stateFlagKey(std::string key, std::string field, bool &slot);
/// A key that is understood but does not change the compiled model.
KeySpec ignoredKey(std::string key, Arity arity = Arity::One);
KeySpec customKey(std::string key, std::string field, Arity arity,
                  ApplyFn apply);

/// A key whose value is one of `names` (compared without case).
template <typename Enum>
KeySpec enumKey(std::string key, std::string field, Enum ModelConfig::*member,
                std::vector<std::pair<std::string, Enum>> names) {
  return customKey(
      std::move(key), std::move(field), Arity::One,
      [member, names = std::move(names)](
          const ConfigEntry &entry, ModelConfig &config, Diagnostics &diag) {
        std::optional<std::string> text = toText(entry, diag);
        if (!text)
          return false;
        std::string allowed;
        for (const auto &[name, value] : names) {
          if (llvm::StringRef(name).equals_insensitive(*text)) {
            config.*member = value;
            return true;
          }
          allowed += (allowed.empty() ? "" : ", ") + name;
        }
        diag.error(entry.value.loc, "'" + entry.key + "' must be one of " +
                                        allowed + "; got '" + *text + "'");
        return false;
      });
}

} // namespace moe::frontend

#endif // MOE_FRONTEND_KEYTABLE_H
