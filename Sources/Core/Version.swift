/// mmencode's version, written into output metadata and cache recipes.
public let mmencodeVersion = "0.1.0"
